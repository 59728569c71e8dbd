// Command gatewayd runs the service-order integration gateway (serve, the
// default) and the mapping authors' tools (mappings validate|test|translate).
// It only parses flags and wires the packages together.
package main
