"""transforms/tagging"""
