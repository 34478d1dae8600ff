"""Pure logic with no pygls: documents, prompts, budgets, filters, caching, debouncing."""
