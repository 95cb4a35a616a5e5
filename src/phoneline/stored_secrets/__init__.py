"""Every secret stored encrypted (crypto.SecretBox), taken together: rotation and the start-up check."""
