package mappings

// ParseInput exposes parseInput to the external tests (the fixture runner's
// reading of .input.json files).
var ParseInput = parseInput
