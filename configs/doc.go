// Package configs holds the gateway's typed configuration and the shipped YAML
// (gateway.yaml). Loading interpolates ${NAME} and ${NAME:-default} from the
// environment, decodes strictly (an unknown key fails, naming its dotted path
// and line), applies defaults and validates, naming the dotted key and the
// value received in every message.
package configs
