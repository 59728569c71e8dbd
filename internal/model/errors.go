package model

import (
	"errors"
	"strconv"
	"strings"
)

// NotFoundError names what a caller asked for that does not exist. It
// matches ErrNotFound, and Err when set (a package's own sentinel, such as
// an unknown vendor), so callers keep comparing with errors.Is.
type NotFoundError struct {
	// What is the kind of thing: "order", "vendor", "delivery",
	// "offline window of vendor".
	What string
	// ID is the id or name the caller gave.
	ID string
	// Err is a more precise sentinel the error also matches; nil for none.
	Err error
}

func (e *NotFoundError) Error() string {
	if e.Err != nil {
		return e.What + " " + strconv.Quote(e.ID) + ": " + e.Err.Error()
	}
	return e.What + " " + strconv.Quote(e.ID) + ": not found"
}

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Unwrap returns Err.
func (e *NotFoundError) Unwrap() error { return e.Err }

// NotFound returns a *NotFoundError for the thing what named id.
func NotFound(what, id string) error { return &NotFoundError{What: what, ID: id} }

// VersionConflictError says that an order is no longer at the version the
// caller read. It matches ErrVersionConflict.
type VersionConflictError struct {
	// ID is the order's id.
	ID string
	// Current is the version the order is at now, 0 when unknown (it kept
	// changing under the caller).
	Current int64
	// Read is the version the caller read.
	Read int64
}

func (e *VersionConflictError) Error() string { return Describe(e) }

// Is reports whether target is ErrVersionConflict.
func (e *VersionConflictError) Is(target error) bool { return target == ErrVersionConflict }

// Describe renders err for the partner or client whose request caused it,
// from its typed parts only: never the text of the wrapping chain, which
// carries package prefixes and our own context and belongs to the log. It
// returns "" when err carries nothing such a reader may read (a failure of
// the gateway itself); the caller then answers with its generic text.
func Describe(err error) string {
	var ves ValidationErrors
	var ve *ValidationError
	var re *RuleError
	var nf *NotFoundError
	var vc *VersionConflictError
	switch {
	case errors.As(err, &ves):
		parts := make([]string, len(ves))
		for i, e := range ves {
			parts[i] = fieldRule(e.Field, e.Rule)
		}
		return strings.Join(parts, "; ")
	case errors.As(err, &ve):
		return fieldRule(ve.Field, ve.Rule)
	case errors.As(err, &re):
		return fieldRule(re.Field, re.Rule)
	case errors.As(err, &nf):
		return nf.What + " " + strconv.Quote(nf.ID) + " does not exist"
	case errors.As(err, &vc):
		if vc.Current == 0 {
			return "order " + vc.ID + " kept changing; read it again and retry"
		}
		return "order " + vc.ID + " is at version " + strconv.FormatInt(vc.Current, 10) + ", not " + strconv.FormatInt(vc.Read, 10)
	case errors.Is(err, ErrNotFound):
		return "not found"
	case errors.Is(err, ErrVersionConflict):
		return "the order changed meanwhile; read it again and retry"
	case errors.Is(err, ErrConflict):
		return "the order's state does not allow this change"
	case errors.Is(err, ErrRefused):
		return "refused"
	case errors.Is(err, ErrInvalid):
		return "invalid input"
	}
	return ""
}

func fieldRule(field, rule string) string {
	if field == "" {
		return rule
	}
	return field + ": " + rule
}
