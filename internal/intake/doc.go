// Package intake commits canonical changes onto orders: Service implements
// model.Sink for partner messages (REST, SOAP, email) and offers the platform's
// own create and patch operations, all with optimistic concurrency and
// exactly-once effect per idempotency key.
package intake
