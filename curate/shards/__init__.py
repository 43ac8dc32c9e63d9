"""Tokenizers, Megatron .bin/.idx shards, verification and inspection."""
