"""Evidence: 制作方法/制作时间/制作人/证明对象, cases, exports for the case file (刻盘附卷),
retention and legal holds, and access beyond one's own team."""
