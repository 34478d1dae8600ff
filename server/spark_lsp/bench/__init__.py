"""Typing-replay benchmark."""
