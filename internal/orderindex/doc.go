// Package orderindex finds orders: Redis sorted sets per partner, company,
// service type, status and reference, scored by the order's last update,
// maintained by one script per commit that moves an order between sets only
// forward in versions (so concurrent commits cannot leave it in a stale set),
// with a dirty mark written before each commit that a repair loop resolves
// after a crash between commit and index. Every key shares the hash tag {ix}.
package orderindex
