"""The read-only dashboard (Streamlit) and the read side of the state files it shares with the heartbeat."""
