// Package archtest holds the test that keeps the import direction of
// docs/architecture.md true: data flows downward, and the canonical model
// depends on nothing of ours.
package archtest
