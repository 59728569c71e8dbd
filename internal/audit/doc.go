// Package audit is the trail of changes made through the platform API: who
// (the API key or admin token), when, what (action, resource kind and id)
// and the resource before and after. It is one Redis Stream, capped, read
// newest first by GET /v1/audit.
package audit
