package config

// validateCheckSettings runs each check's own settings validation. Each check's
// settings type lives in its own file (airflow.go, terraform.go, dbt.go,
// contracts.go) next to its validate method.
func validateCheckSettings(cfg *RepoConfig) Errors {
	var errs Errors
	errs = append(errs, cfg.Checks.Airflow.validate(cfg)...)
	errs = append(errs, cfg.Checks.Terraform.validate(cfg)...)
	errs = append(errs, cfg.Checks.Dbt.validate(cfg)...)
	errs = append(errs, cfg.Checks.Contracts.validate(cfg)...)
	return errs
}
