package config

// AirflowSettings configures the conveyor/airflow check.
type AirflowSettings struct {
	RuleSettings `yaml:",inline"`
	// TargetVersion is the Airflow version the DAGs must be ready for ("2.10", "3.0").
	TargetVersion string `yaml:"target_version"`
	// Require lists DAG attributes every DAG must set: owner, retries, tags.
	Require []string `yaml:"require"`
	// MaxCatchupRuns fails a DAG whose catchup would schedule more runs on deploy.
	MaxCatchupRuns int `yaml:"max_catchup_runs"`
}

func (s AirflowSettings) validate(cfg *RepoConfig) Errors { return nil }
