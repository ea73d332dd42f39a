"""`yibaolang serve` (docs/serve.md): the settlement and explanation service, the workbench, the decision log.

Needs the serve extra: pip install 'yibaolang[serve]'.
"""
