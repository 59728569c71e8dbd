// Package testutil starts real servers for integration tests (redis-server with
// AOF on a random port) and gives unit tests an in-process Redis. It is imported
// by tests only.
package testutil
