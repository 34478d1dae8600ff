"""A latency-faithful SIMULATOR of the Cerebras/OpenAI wire protocol, for tests and benchmarks."""
