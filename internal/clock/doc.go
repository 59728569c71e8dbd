// Package clock holds the gateway's one clock abstraction. Every package
// that reads the time takes it as a function, an option field
// `Now func() time.Time` whose nil value means time.Now; tests drive time by
// handing in the Now method of an Offset. The queue makes no decision on a
// replica's clock (its scripts read Redis TIME): it only adds the offset of
// the injected clock from the local time, so a test can advance Redis time
// too.
package clock
