"""易保语 yibaolang: a declarative language for medical-insurance policy rules."""

__version__ = "0.1.0"
