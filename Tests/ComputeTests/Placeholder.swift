// ComputeTests
