"""transforms/sources"""
