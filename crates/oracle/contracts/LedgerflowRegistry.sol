// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// Datasets (Merkle roots of lake chunks, `ledgerflow lake hash`, with the chain and block
/// range they cover) and models (content hash of model.lfm, hash of its training
/// manifest, optional licence), so a fulfilment can name only registered ones. Anyone
/// may register; a registration cannot be changed, only added.
contract LedgerflowRegistry {
    struct Dataset {
        string chain;
        uint64 fromBlock;
        uint64 toBlock;
        address registrant;
        bool exists;
    }

    struct Model {
        bytes32 manifestHash;
        bytes32 datasetRoot;
        address licence;
        uint256 licenceId;
        address registrant;
        bool exists;
    }

    mapping(bytes32 => Dataset) public datasets;
    mapping(bytes32 => Model) public models;

    event DatasetRegistered(bytes32 indexed root, string chain, uint64 fromBlock, uint64 toBlock, address registrant);
    event ModelRegistered(
        bytes32 indexed modelHash,
        bytes32 manifestHash,
        bytes32 indexed datasetRoot,
        address licence,
        uint256 licenceId,
        address registrant
    );

    function registerDataset(bytes32 root, string calldata chain, uint64 fromBlock, uint64 toBlock) external {
        require(root != bytes32(0), "Registry: empty root");
        require(!datasets[root].exists, "Registry: dataset exists");
        require(fromBlock <= toBlock, "Registry: bad block range");
        datasets[root] = Dataset(chain, fromBlock, toBlock, msg.sender, true);
        emit DatasetRegistered(root, chain, fromBlock, toBlock, msg.sender);
    }

    /// `licence` is a LicenceNFT (zero: free to request); `datasetRoot` the registered
    /// dataset it was trained on (zero: a table brought by its author).
    function registerModel(
        bytes32 modelHash,
        bytes32 manifestHash,
        bytes32 datasetRoot,
        address licence,
        uint256 licenceId
    ) external {
        require(modelHash != bytes32(0), "Registry: empty model hash");
        require(!models[modelHash].exists, "Registry: model exists");
        require(datasetRoot == bytes32(0) || datasets[datasetRoot].exists, "Registry: unknown dataset");
        models[modelHash] = Model(manifestHash, datasetRoot, licence, licenceId, msg.sender, true);
        emit ModelRegistered(modelHash, manifestHash, datasetRoot, licence, licenceId, msg.sender);
    }

    function isDataset(bytes32 root) external view returns (bool) {
        return datasets[root].exists;
    }

    function isModel(bytes32 modelHash) external view returns (bool) {
        return models[modelHash].exists;
    }

    function licenceOf(bytes32 modelHash) external view returns (address, uint256) {
        Model storage m = models[modelHash];
        return (m.licence, m.licenceId);
    }
}
