"""ionflow.workflows"""
