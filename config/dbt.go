package config

// DbtSettings configures the conveyor/dbt check.
type DbtSettings struct {
	RuleSettings `yaml:",inline"`
	// Manifest is a dbt manifest.json to read instead of parsing the project.
	Manifest string `yaml:"manifest"`
}

func (s DbtSettings) validate(cfg *RepoConfig) Errors { return nil }
