aws_account_id = "222222222222" # want: TF-ACCOUNT-001
