package configs

// Access is the `access:` section: the bootstrap credential of the platform
// API (/v1) and the console.
type Access struct {
	// AdminToken is the bootstrap admin bearer token; default ${GATEWAY_ADMIN_TOKEN}.
	// Empty: a token is generated once into TokenFile (mode 0600) and its path logged.
	AdminToken Secret `yaml:"admin_token"`
	// TokenFile keeps the generated admin token when AdminToken is empty;
	// default "data/admin-token".
	TokenFile string `yaml:"token_file"`
}

func (a *Access) setDefaults() { def(&a.TokenFile, "data/admin-token") }

func (a *Access) validate(add func(key, val, rule string)) {
	if t := a.AdminToken.Reveal(); t != "" && len(t) < 16 {
		add("access.admin_token", a.AdminToken.String(), "must be at least 16 characters")
	}
}
