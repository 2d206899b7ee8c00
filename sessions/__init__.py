"""The sessions app: booking (booking/), records (records/) and outreach (outreach/), over one
set of models (models/). App label `treatment_sessions`."""
