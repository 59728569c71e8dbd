// Package access is who may call the platform API and the console: the
// bootstrap admin token (GATEWAY_ADMIN_TOKEN, or a generated token file for
// the embedded default) and API keys that admins create, stored hashed in
// Redis, scoped read / write / admin and optionally bound to one partner or
// vendor. Verify turns a presented credential into a Principal.
package access
