// Package partnerauth authenticates partner requests and signs the gateway's
// answers. Every check runs over the exact bytes received, never over a
// re-marshalled copy: API keys in a header or query parameter (constant-time
// compare), RSA PKCS#1 v1.5 and RSA-PSS with SHA-256, Ed25519, HMAC-SHA256, and
// the Standard Webhooks scheme with timestamp tolerance, key rotation and replay
// protection. Keys come from PEM files and secrets from environment variables
// named by the partner's mapping; secrets are Secret values that never reach a
// log line.
package partnerauth
