"""kefu: self-hosted AI customer service (智能客服)."""

__version__ = "0.1.0"
