"""The dialogue policies and the agents that train them (Seq2Seq, MultiSeq, REINFORCE)."""
