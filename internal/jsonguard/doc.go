// Package jsonguard checks a JSON document in bounded memory before anything
// recursive reads it: size, nesting depth, UTF-8 validity (with the byte
// offset of the first bad byte), duplicate object members and syntax. The
// checker is a byte-at-a-time state machine with an explicit stack capped at
// the depth limit, so a megabyte of "[" costs a few hundred bytes, not a
// recursion per level. Every JSON entry point (partner routes and /v1) runs
// it first.
package jsonguard
