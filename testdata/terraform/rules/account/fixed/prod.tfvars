aws_account_id = "333333333333"
