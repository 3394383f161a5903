"""ionflow.hpc"""
