// Package model holds the canonical order/task vocabulary of the gateway: Order,
// Event, Delivery, their statuses and event types, the Patch a partner message
// applies to an order, and Validate methods. It imports the standard library only,
// so every other package can depend on it.
package model
