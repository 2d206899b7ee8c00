"""The one refusal of the exchange: which rule said no, and why, in words staff understand."""


class ExchangeRefused(Exception):
    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message
