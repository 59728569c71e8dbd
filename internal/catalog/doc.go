// Package catalog stores integrations as data: vendors (endpoint, transport,
// auth variable names, permission set, event definitions, availability) and
// integrated groups, as versioned documents in Redis. Every change bumps one
// revision counter and is published, so each replica's dispatch snapshot is
// rebuilt at once (Watch). Documents keep ${NAME} references: credentials
// stay in the environment.
package catalog
