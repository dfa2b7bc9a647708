"""Development tools: codegen checks, fuzzing, benchmarks. Each module runs alone."""
