"""LSP handlers: thin adapters from protocol params to engine calls."""
