"""CSV cells that a spreadsheet opens as text, never as a formula (CSV injection)."""

# Excel, LibreOffice and Sheets run a cell starting with one of these as a formula, and a tab or
# carriage return at the start can smuggle one past a check on the first visible character.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """`value` as a CSV cell: text that could start a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
