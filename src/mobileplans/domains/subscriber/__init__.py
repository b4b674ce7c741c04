"""The reference operator's subscribers: plans, accounts, lines, balances and data use."""
