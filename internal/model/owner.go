package model

import "errors"

// ErrNotOwned marks a partner message addressed to an order that is neither
// the partner's nor sent to it. It always travels with ErrNotFound inside a
// *NotOwnedError: the partner reads exactly what it would read for an order
// that does not exist, while the gateway logs and counts the attempt.
var ErrNotOwned = errors.New("order belongs to another partner")

// NotOwnedError is the refusal of a message addressed to another partner's
// order. Its message is Err's, the not-found a partner reads; errors.Is
// matches ErrNotFound (through Err) and ErrNotOwned.
type NotOwnedError struct {
	// Err is the not-found error, worded as for a missing order.
	Err error
	// OrderID is the order addressed; Owner is its partner (for the log only).
	OrderID, Owner string
}

func (e *NotOwnedError) Error() string { return e.Err.Error() }

// Unwrap returns Err and ErrNotOwned.
func (e *NotOwnedError) Unwrap() []error { return []error{e.Err, ErrNotOwned} }
