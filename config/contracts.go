package config

// ContractSettings configures the conveyor/contracts check.
type ContractSettings struct {
	RuleSettings `yaml:",inline"`
}

func (s ContractSettings) validate(cfg *RepoConfig) Errors { return nil }
