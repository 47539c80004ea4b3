package handlers_test

import "github.com/google/go-github/v74/github"

func githubCreate(name, sha string) github.CreateCheckRunOptions {
	return github.CreateCheckRunOptions{Name: name, HeadSHA: sha, Status: github.Ptr("completed"), Conclusion: github.Ptr("success")}
}

func githubUpdateInProgress(name string) github.UpdateCheckRunOptions {
	return github.UpdateCheckRunOptions{Name: name, Status: github.Ptr("in_progress")}
}
