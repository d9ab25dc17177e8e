"""The ai service: classifies leads (Groq, or explicit rules) and drives Lívia."""
