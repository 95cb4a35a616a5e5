"""Chats and messages: sending through a partner's lines behind the Linq guards, and the activity
counters line health is scored from."""
