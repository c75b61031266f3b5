"""A consumer's membership of its group: `membership.py` (what commits and offset lookups ask of
it, and today's only implementation, not a member). The classic protocol (JoinGroup, SyncGroup,
Heartbeat, LeaveGroup) and KIP-848 (ConsumerGroupHeartbeat) come here as implementations."""
