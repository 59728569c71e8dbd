// Package editdist is the one edit-distance helper behind the "did you mean"
// hints of the config loader (configs) and the mapping loader (mappings).
package editdist
