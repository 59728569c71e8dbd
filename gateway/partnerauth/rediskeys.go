package partnerauth

// Redis keys of this package. Every key is built here.

// replayKey is a STRING (value "1", with a TTL) marking a webhook id of a
// partner as seen: "pa:replay:{<partner>}:<id>". The partner is the hash tag,
// though each operation touches one key only.
// Bound: TTL, the partner's replay window.
func replayKey(partner, id string) string {
	return "pa:replay:{" + partner + "}:" + id
}
