package jsonguard

import (
	"errors"
	"fmt"
)

// Kind says which rule a document broke.
type Kind int

// The kinds of Error.
const (
	// KindSyntax: the bytes are not JSON.
	KindSyntax Kind = iota + 1
	// KindEmpty: the document holds no value.
	KindEmpty
	// KindTrailing: something other than white space follows the value.
	KindTrailing
	// KindTooLarge: the document exceeds Limits.MaxBytes.
	KindTooLarge
	// KindTooDeep: objects and arrays nest deeper than Limits.MaxDepth.
	KindTooDeep
	// KindInvalidUTF8: a byte sequence is not UTF-8.
	KindInvalidUTF8
	// KindDuplicateKey: an object names a member twice.
	KindDuplicateKey
)

// ErrInvalid is wrapped by every *Error, for errors.Is.
var ErrInvalid = errors.New("invalid JSON document")

// Error is a document's first broken rule. Its message names the rule, the
// byte offset (counting from 0) and, where it helps, the member's path; it is
// written for the client that sent the document.
type Error struct {
	Kind Kind
	// Offset is the byte offset of the offending byte, counting from 0.
	Offset int64
	// Path is the member path where the rule broke ("workOrders[0].name";
	// empty at the top level).
	Path string
	// Limit is the limit broken (KindTooLarge, KindTooDeep).
	Limit int64
	// Key is the repeated member name (KindDuplicateKey).
	Key string
	// Detail describes a syntax error ("unexpected 'x' after an object member").
	Detail string
}

// Error returns the message a client reads.
func (e *Error) Error() string {
	switch e.Kind {
	case KindEmpty:
		return "the body is empty: it holds no JSON value"
	case KindTrailing:
		return fmt.Sprintf("the body holds more than one JSON value (more data at byte offset %d)", e.Offset)
	case KindTooLarge:
		return fmt.Sprintf("the body exceeds the limit of %d bytes", e.Limit)
	case KindTooDeep:
		return fmt.Sprintf("JSON nested deeper than %d levels at byte offset %d (%s)", e.Limit, e.Offset, pathOr(e.Path))
	case KindInvalidUTF8:
		return fmt.Sprintf("invalid UTF-8 at byte offset %d", e.Offset)
	case KindDuplicateKey:
		return fmt.Sprintf("duplicate member %q in %s at byte offset %d", e.Key, pathOr(e.Path), e.Offset)
	}
	return fmt.Sprintf("malformed JSON at byte offset %d: %s", e.Offset, e.Detail)
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func pathOr(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}
