package config

// TerraformSettings configures the conveyor/terraform check.
type TerraformSettings struct {
	RuleSettings `yaml:",inline"`
	// RequiredTags must be set on every taggable resource.
	RequiredTags []string `yaml:"required_tags"`
	// StatefulTypes are resource types whose delete or replace is high risk.
	StatefulTypes []string `yaml:"stateful_types"`
}

// TerraformStack is one Terraform root module of a terraform component.
type TerraformStack struct {
	Pos  Pos    `yaml:"-"`
	Path string `yaml:"path"`
	// Environment pins the stack to one environment (a stack per env folder).
	Environment string `yaml:"environment"`
	// VarFiles maps environment → tfvars file for stacks shared by environments.
	VarFiles map[string]string `yaml:"var_files"`
}

func (s TerraformSettings) validate(cfg *RepoConfig) Errors { return nil }
